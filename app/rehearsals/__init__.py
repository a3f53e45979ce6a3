"""Rehearsals: practise a classroom moment, record it, get rubric feedback, try again (see models.py)."""
