"""The pure grading engine: plain data in, GradeResult out; never imports flask or server."""
