"""The papers' comparisons at full chip scale, as rows and tables the scripts print:
ARAS's schedulers (:mod:`.aras`), BasisN against reprogramming (:mod:`.basisn`) and
BasisN's fitting error and accuracy (:mod:`.basisn_fit`)."""
