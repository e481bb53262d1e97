"""The embedded dialogue policy: decides offline, on the CPU, from the conversation and the graph's facts as data."""
