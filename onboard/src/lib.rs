//! Onboard pipeline: GStreamer ingest, tract detection, tracking, georeferencing, gating, budgeted MAVLink out.
