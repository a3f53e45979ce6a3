"""School, network and city goals with progress indicators, and the principal coaching log."""
