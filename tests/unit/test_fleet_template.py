"""playbooks/templates/fluid-fleet.html.j2 (status.yml's fleet page), rendered by Ansible's Templar."""
import re

import test_status_templates as S

facts = S.facts  # the fixture: three Datasets as dataset_info returns them


def fleet_vars(facts, **extra):
    """east read, west failed in the status play, north failed earlier and re-read (unreachable)."""
    variables = {
        "ansible_play_hosts_all": ["east", "west", "north"],
        "ansible_play_hosts": ["east"],
        "hostvars": {
            "east": {"status_info": {"datasets": facts[:2]}},
            "west": {"status_info": {"failed": True, "msg": "cannot reach <the> API server"}},
            "north": {},
        },
        "status_fleet_reread": {"results": [
            {"status_host": "north", "failed": True, "msg": "connection refused"}]},
        "status_report_file": "/tmp/out/fluid-status.html",
    }
    variables.update(extra)
    return variables


def test_fleet_page_lists_read_clusters_and_the_unreadable_with_why(facts):
    html = S.render("fluid-fleet.html.j2", [], **fleet_vars(facts))
    east = re.search(r'<section class="cluster" data-cluster="east">(.*?)</section>', html, re.S).group(1)
    assert 'data-dataset="a/cifar10"' in east and 'data-dataset="b/spark"' in east
    assert 'href="fluid-status-east.html"' in east
    assert re.findall(r'<section class="cluster" data-cluster="(\w+)"', html) == ["east"]
    rows = dict(re.findall(r'<tr class="unreadable" data-cluster="(\w+)">(.*?)</tr>', html, re.S))
    assert sorted(rows) == ["north", "west"]
    assert "cannot reach &lt;the&gt; API server" in rows["west"]  # escaped
    assert "connection refused" in rows["north"] and "before its status was read" in rows["north"]
    assert "3 clusters" in html and "1 read" in html and "2 could not be read" in html


def test_cluster_failed_earlier_but_readable_shows_its_datasets(facts):
    v = fleet_vars(facts)
    v["status_fleet_reread"] = {"results": [{"status_host": "north", "datasets": facts[2:], "failed": False}]}
    html = S.render("fluid-fleet.html.j2", [], **v)
    north = re.search(r'<section class="cluster" data-cluster="north">(.*?)</section>', html, re.S).group(1)
    assert 'data-failed="true"' in north and 'data-dataset="c/fresh"' in north
    assert "fluid-status-north.html" not in north  # no page of its own was written
