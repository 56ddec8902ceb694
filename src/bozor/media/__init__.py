"""Media storage: photos kept in a local folder by default, or in S3-compatible storage."""
