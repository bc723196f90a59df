"""The browser's pages: the live board, an agent's day, reports, and the login page."""
