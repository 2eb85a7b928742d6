"""Time: one way to read the clock and to write and parse instants (clock)."""
