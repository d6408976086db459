"""The pure domain: the model, change rows and kinds, the board's layout, the school calendar,
privacy, screens and announcements. No I/O, no Flask, no Redis, no HTTP."""
