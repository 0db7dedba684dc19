"""Dockerfile, Docker Compose and Kubernetes files agree with the code.

There is no Docker engine or cluster here, so these tests parse the files and
check what would break a deployment silently: variables the settings object does
not know (pydantic-settings ignores them), ports that differ between the worker,
its probes and its scrapers, mounted files that do not exist, a policy that does
not validate, a root user.
"""

from __future__ import annotations

import ipaddress
import json
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from alerting.policy import Policy, load_policy
from streams.settings import Settings
from tests.support.broker import REPO_ROOT
from tests.support.monitoring import ALERTMANAGER_CONFIG, GRAFANA_DIR, PROMETHEUS_DIR

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
K8S_DIR = REPO_ROOT / "deploy" / "k8s"
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
SETTING_VARIABLES = {f"SPIKEWATCH_{name.upper()}" for name in Settings.model_fields}


def workers() -> dict[str, dict[str, Any]]:
    return {
        name: service for name, service in SERVICES.items() if service.get("command") == ["worker"]
    }


def settings_from(environment: dict[str, str]) -> Settings:
    """The Settings a process with exactly this environment would build."""
    fields = {
        name.removeprefix("SPIKEWATCH_").lower(): value for name, value in environment.items()
    }
    return Settings.model_validate(fields)


def k8s_documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    documents = []
    for resource in kustomization["resources"]:
        documents += [d for d in yaml.safe_load_all((K8S_DIR / resource).read_text()) if d]
    return documents


def k8s_object(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in k8s_documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def test_dockerfile_runs_the_worker_as_a_non_root_user_on_the_settings_port() -> None:
    user = re.search(r"^USER (\S+)$", DOCKERFILE, re.MULTILINE)
    assert user is not None
    assert user.group(1) not in {"root", "0"}
    assert 'ENTRYPOINT ["spikewatch"]' in DOCKERFILE
    assert 'CMD ["worker"]' in DOCKERFILE
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    assert 'spikewatch = "streams.entry:main"' in pyproject
    env = dict(re.findall(r"(SPIKEWATCH_[A-Z_]+)=(\S+)", DOCKERFILE))
    assert set(env) <= SETTING_VARIABLES
    assert f"EXPOSE {env['SPIKEWATCH_WEB_PORT']}" in DOCKERFILE
    copied = set()
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, re.MULTILINE):
        for path in source.split():
            assert (REPO_ROOT / path).exists(), path
            copied.add(path.rstrip("/").rsplit("/", 1)[-1])
    packages = tomllib.loads(pyproject)["tool"]["setuptools"]["packages"]["find"]["include"]
    missing = {pattern.removesuffix("*") for pattern in packages} - copied
    assert not missing, f"the image would be built without {sorted(missing)}"


def test_compose_uses_only_variables_the_settings_know_and_they_validate() -> None:
    for name, service in SERVICES.items():
        environment = service.get("environment", {})
        spikewatch_vars = {k: v for k, v in environment.items() if k.startswith("SPIKEWATCH_")}
        assert set(spikewatch_vars) <= SETTING_VARIABLES, name
        if spikewatch_vars:
            settings_from(spikewatch_vars)


def serves_every_interface(host: str) -> bool:
    """Inside a container the worker must listen beyond its own loopback, or neither
    Prometheus nor the Kubernetes probes reach it; these files are only read here,
    nothing in the tests binds that address (they use 127.0.0.1)."""
    return ipaddress.ip_address(host).is_unspecified


def test_compose_runs_kraft_kafka_creates_the_keyed_topics_and_several_workers() -> None:
    kafka = SERVICES["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert len(workers()) >= 2
    for name, worker in workers().items():
        settings = settings_from(worker["environment"])
        assert serves_every_interface(settings.web_host), name
        assert worker["image"] == "spikewatch:latest"
        assert "topics" in worker["depends_on"]
    settings = settings_from(next(iter(workers().values()))["environment"])
    script = " ".join(SERVICES["topics"]["command"])
    assert f"--partitions {settings.topic_partitions}" in script
    for topic in (settings.input_topic, settings.ack_topic):
        assert re.search(rf"\bfor topic in [^;]*\b{re.escape(topic)}\b", script), topic


def test_compose_publishes_ports_on_loopback_only_and_mounts_files_that_exist() -> None:
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith("./"):
                assert (REPO_ROOT / source).exists(), (name, source)
                assert target.startswith("/"), (name, target)


def test_prometheus_scrapes_every_compose_worker_on_its_port_and_alerts_alertmanager() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "spikewatch"]
    targets = {t for group in job["static_configs"] for t in group["targets"]}
    assert targets == {
        f"{name}:{settings_from(service['environment']).web_port}"
        for name, service in workers().items()
    }
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    (target,) = alertmanagers["static_configs"][0]["targets"]
    assert target.split(":")[0] in SERVICES
    mounted = {v.split(":")[1]: v.split(":")[0] for v in SERVICES["prometheus"]["volumes"]}
    config_flag = next(
        a for a in SERVICES["prometheus"]["command"] if a.startswith("--config.file=")
    )
    config_dir = str(Path(config_flag.split("=", 1)[1]).parent)
    assert (REPO_ROOT / mounted[config_dir]).resolve() == PROMETHEUS_DIR
    for rule_file in config["rule_files"]:
        assert (PROMETHEUS_DIR / rule_file).exists(), rule_file
    am_mounts = {v.split(":")[1]: v.split(":")[0] for v in SERVICES["alertmanager"]["volumes"]}
    assert (REPO_ROOT / am_mounts["/etc/alertmanager/alertmanager.yml"]).resolve() == (
        ALERTMANAGER_CONFIG
    )


def test_grafana_provisioning_points_at_the_mounted_boards_and_the_compose_prometheus() -> None:
    mounts = {v.split(":")[1]: v.split(":")[0] for v in SERVICES["grafana"]["volumes"]}
    provisioning = REPO_ROOT / mounts["/etc/grafana/provisioning"]
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "spikewatch.yml").read_text())[
        "providers"
    ]
    boards_dir = provider["options"]["path"]
    assert (REPO_ROOT / mounts[boards_dir]).resolve() == GRAFANA_DIR / "dashboards"
    home = SERVICES["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (GRAFANA_DIR / "dashboards" / Path(home).relative_to(boards_dir)).exists()
    (datasource,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    url = urlparse(datasource["url"])
    assert url.hostname in SERVICES
    assert f"127.0.0.1:{url.port}:{url.port}" in SERVICES[url.hostname]["ports"]
    for board in (GRAFANA_DIR / "dashboards").glob("*.json"):
        for panel in json.loads(board.read_text())["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == datasource["uid"], (board.name, panel)


def test_each_board_has_its_own_title_not_one_of_its_panels() -> None:
    """Both boards were once listed in Grafana under a panel's title ("Unknown categories")."""
    boards = [json.loads(b.read_text()) for b in (GRAFANA_DIR / "dashboards").glob("*.json")]
    titles = [board["title"] for board in boards]
    assert len(set(titles)) == len(titles) >= 2
    for board in boards:
        assert board["title"].startswith("spikewatch")
        assert board["title"] not in {panel["title"] for panel in board["panels"]}


def test_k8s_workers_read_their_settings_and_policy_from_config_maps_that_validate() -> None:
    deployment = k8s_object("Deployment", "spikewatch-worker")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    (source,) = container["envFrom"]
    config = k8s_object("ConfigMap", source["configMapRef"]["name"])["data"]
    assert set(config) <= SETTING_VARIABLES
    settings = settings_from(config)
    assert deployment["spec"]["replicas"] <= settings.topic_partitions
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    policy_mount = next(
        m for m in mounts.values() if settings.policy_file.is_relative_to(m["mountPath"])
    )
    policy_map = k8s_object("ConfigMap", volumes[policy_mount["name"]]["configMap"]["name"])
    policy_text = policy_map["data"][settings.policy_file.name]
    policy = Policy.model_validate(yaml.safe_load(policy_text))
    assert policy.teams == load_policy().teams, "the on-call topics the tools listen to"
    shipped = load_policy().model_dump(exclude={"policy_version"})
    assert policy.model_dump(exclude={"policy_version"}) == shipped, (
        "the deployment's policy has drifted from alerting/policies/default.yaml"
    )
    assert any(settings.data_dir.is_relative_to(m["mountPath"]) for m in mounts.values()), (
        "Faust's data dir must be writable under a read-only root filesystem"
    )


def test_k8s_probes_and_service_use_the_workers_web_port_and_user() -> None:
    deployment = k8s_object("Deployment", "spikewatch-worker")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    config = k8s_object("ConfigMap", "spikewatch-config")["data"]
    settings = settings_from(config)
    (port,) = container["ports"]
    assert port["containerPort"] == settings.web_port
    assert serves_every_interface(settings.web_host)
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(settings.web_port)
    service = k8s_object("Service", "spikewatch-worker")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    dockerfile_uid = re.search(r"useradd .*--uid (\d+)", DOCKERFILE)
    assert dockerfile_uid is not None
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == int(dockerfile_uid.group(1))
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["image"] == "spikewatch"
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    assert [i["name"] for i in kustomization["images"]] == ["spikewatch"]
