"""Lesson analytics: speaker turns, talk measures, questions, wait times and uptake, for the teacher's reflection."""
