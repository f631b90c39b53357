"""The course website: the README, the lectures, the executed notebooks and the folders' READMEs
as one static site, built offline with Sphinx and checked link by link (`make site`)."""
