"""Run and trace identities: compared by content, so a moved calibration file still resumes its runs."""

from qlsa_sim.core.atomic import identity_key


def test_a_file_known_by_its_hash_is_compared_by_the_hash_alone():
    a = {"spec": {"lr": 1.0, "solvers": ("lu",)}, "profile": {"path": "/a/p.json", "sha256": "ab", "q1": 1e-9}}
    moved = {"spec": {"lr": 1.0, "solvers": ["lu"]}, "profile": {"path": "p.json", "sha256": "ab", "q1": 1e-9}}
    changed = {"spec": {"lr": 1.0, "solvers": ["lu"]}, "profile": {"path": "/a/p.json", "sha256": "cd", "q1": 1e-9}}
    assert identity_key(a) == identity_key(moved)
    assert identity_key(a) != identity_key(changed)
    assert identity_key({"path": "x", "lr": 1}) != identity_key({"path": "y", "lr": 1})  # no hash: the path counts
    assert identity_key({"nan": float("nan")}) == identity_key({"nan": float("nan")})
