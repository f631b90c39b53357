"""The grader's own tests run on a small fixture course (see fixtures/).

fixtures/ holds graded tests *for the grader to run*, not tests of this suite: never collect them.
"""

collect_ignore = ["fixtures"]
