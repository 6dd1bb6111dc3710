"""Page tests: sign-in, sessions, security defaults, catalogues, routes."""
