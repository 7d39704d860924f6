"""Stand-ins for the Course 3 data files, generated here because the originals cannot be fetched."""
