"""PLC meetings: a facilitator prepares a community's meeting around a few pieces of classroom evidence, runs it
with a protocol while the members respond live, and keeps what the group saw and agreed."""
