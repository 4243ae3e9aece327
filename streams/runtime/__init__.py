"""The Faust worker: the app and its topics, the wire codec, table recovery, liveness, the agents."""
