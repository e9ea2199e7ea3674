"""The media plane: RTP ingest, demuxing, the stream hub and its outputs (see docs/architecture.md)."""
