"""Tools that write `catalog.json` for an author: import a course from a Markdown source list,
resolve videos named by title to YouTube ids with evidence."""
