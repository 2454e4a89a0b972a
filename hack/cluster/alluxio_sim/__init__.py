"""Alluxio CLI simulator for the embedded (container-less) cluster; see README.md."""
