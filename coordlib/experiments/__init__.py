"""One module per experiment of MODEL.md section 7; each notebook calls only its own module.

:mod:`.parameters` checks every notebook's parameters; :mod:`.learners` trains and evaluates
learner configurations as cached sweeps (E3-E8); ``e0_quickstart`` ... ``e11_lost_sales`` hold
what each notebook computes.
"""
