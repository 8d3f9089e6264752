"""Who is calling: accounts, access and refresh tokens, sign-in throttling."""
