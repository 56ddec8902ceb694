"""Classifieds: moderated ads published to a channel, reposted, and checked for being sold."""
