"""MNS delivery: the FC MNS-trigger function's logic (`trigger`) and the Alicom queue puller
(`alicom`)."""
