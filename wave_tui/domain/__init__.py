"""Pure data: the words of WAVE (statuses, gates, autonomy levels) and their rules. No I/O."""
