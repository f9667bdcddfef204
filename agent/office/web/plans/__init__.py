"""Emergency plans (versioned, approved), drills run against them, the yearly calendar."""
