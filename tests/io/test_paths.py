"""Whether two names are one file, and how a name is shown in a message."""

import os

from cnnviz.io.paths import same_file, shown_name


def test_one_file_under_every_name_it_has(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.cnnviz.json").write_text("{}")
    os.symlink("s.cnnviz.json", tmp_path / "link.json")
    os.link(tmp_path / "s.cnnviz.json", tmp_path / "hard.json")
    (tmp_path / "sub").mkdir()
    for other in ("s.cnnviz.json", "./s.cnnviz.json", str(tmp_path / "s.cnnviz.json"), "link.json", "hard.json",
                  "sub/../s.cnnviz.json"):
        assert same_file(other, "s.cnnviz.json"), other
    (tmp_path / "t.json").write_text("{}")
    assert not same_file("t.json", "s.cnnviz.json")


def test_a_name_that_does_not_exist_yet_is_compared_by_where_it_would_be(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert same_file("new.py", str(tmp_path / "new.py")) and same_file("./new.py", "new.py")
    assert not same_file("new.py", "other.py")
    os.symlink("target.png", tmp_path / "dangling.png")  # a link to a file not written yet
    assert same_file("dangling.png", "target.png")


def test_shown_name_says_what_was_given():
    assert shown_name("a/b/s.cnnviz.json") == "s.cnnviz.json"
    assert shown_name("runs/") == "runs"
    assert shown_name(".") == "." and shown_name("/") == "/"
    assert shown_name("") == "'' (an empty name)"
