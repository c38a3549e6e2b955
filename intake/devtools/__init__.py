"""Dev tools, apart from the runtime (which never imports them): the terminal phone, the words
report and its readability checks."""
