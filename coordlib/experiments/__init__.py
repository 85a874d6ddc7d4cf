"""One module per experiment of MODEL.md section 7; each notebook calls only its own module.

:mod:`.parameters` checks every notebook's parameters; :mod:`.learners` trains and evaluates
learner configurations as cached sweeps (E3-E8); ``e0_quickstart`` ... ``e10_sweeps`` hold
what each notebook computes.
"""
