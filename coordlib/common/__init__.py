"""What every layer uses and nothing of the model: file I/O (:mod:`.files`), statistics
(:mod:`.stats`), the C allocator of long training processes (:mod:`.memory`)."""
