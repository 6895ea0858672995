"""``courtfunds``: the auditors' command-line tool: request and download an export, and check
one offline against its signed manifest, its hash chains, the digest and the public key."""
