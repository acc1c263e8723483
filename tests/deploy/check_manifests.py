"""Checks the Kubernetes manifests of deploy/kubernetes/ (scripts/validate-manifests runs it):
each against the Kubernetes API schemas (kubernetes-validate, strict: an unknown field is an error),
for every Kubernetes version from MIN to the newest the validator ships; that the validator does
reject broken copies; and what a schema cannot see: the manifests agree with each other (selectors,
names, ports, probes), with the image (its port, user, tag) and with the server (every variable is a
setting it reads, the probes' Host is allowed, the shutdown grace fits the pod's), and the pod is
locked down as docs/deploy.md says.

Usage:
  python check_manifests.py check DIR MIN_VERSION
      One line per check and a closing "N passed, M failed".
  python check_manifests.py env FILE...
      The data / stringData of the ConfigMaps and Secrets in FILE… as KEY=VALUE lines (for
      scripts/build-image, which runs the image with them).
Needs kubernetes-validate and PyYAML (tests/deploy/requirements.txt, in .venv-tools).
"""

import copy
import json
import re
import sys
from pathlib import Path

import kubernetes_validate
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError, all_versions, major_minor

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tests" / "clients"))
from checks import check, finish  # noqa: E402

QUANTITY = re.compile(r"^(\d+(\.\d+)?)(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")
UNITS = {None: 1, "m": 1e-3, "k": 1e3, "Ki": 1024, "M": 1e6, "Mi": 1024**2, "G": 1e9, "Gi": 1024**3,
         "T": 1e12, "Ti": 1024**4}


def quantity(value):
    m = QUANTITY.match(str(value))
    return float(m.group(1)) * UNITS[m.group(3)] if m else None


def load(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def schema_errors(doc, versions):
    """The first schema error for each version (none: valid everywhere). A kind without a schema is
    an error here, where kubernetes-validate only warns."""
    errors = []
    for v in versions:
        try:
            kubernetes_validate.validate(doc, v, strict=True)
        except ValidationError as e:
            errors.append(f"{v}: {'.'.join(map(str, e.path))}: {e.message}")
        except SchemaNotFoundError as e:
            errors.append(f"{v}: {e}")
    return errors


def env(files):
    for f in files:
        for doc in load(Path(f)):
            for key, value in {**doc.get("data", {}), **doc.get("stringData", {})}.items():
                if "\n" in str(value):
                    sys.exit(f"{f}: {key} holds a newline")
                print(f"{key}={value}")


def main(folder, minimum):
    folder = Path(folder)
    versions = [major_minor(v) for v in all_versions() if major_minor(v) >= major_minor(minimum)]
    versions = sorted(set(versions), key=lambda v: tuple(map(int, v.split("."))))
    check(f"[schema] kubernetes-validate ships schemas from {minimum} on", versions and versions[0] == major_minor(minimum),
          versions)

    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    listed = kustomization.get("resources", [])
    present = sorted(p.name for p in folder.glob("*.yaml") if p.name != "kustomization.yaml")
    check("[kustomize] kustomization.yaml lists every manifest of the folder, once, and nothing else",
          sorted(listed) == present and len(set(listed)) == len(listed), {"listed": listed, "present": present})

    docs = {}
    for name in present:
        for doc in load(folder / name):
            errors = schema_errors(doc, versions)
            check(f"[schema] {name}: {doc.get('kind')} {doc.get('metadata', {}).get('name')} is valid (strict) "
                  f"for Kubernetes {versions[0]} to {versions[-1]}", not errors, errors[:3])
            docs[doc.get("kind")] = doc

    # The validator is not a no-op: broken copies of the Deployment are refused.
    deployment = docs.get("Deployment", {})
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["securityContext"]["runAsNonroot"] = True
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eighty"
    unknown_kind = dict(copy.deepcopy(deployment), kind="Deploymnet")
    check("[schema] the validator refuses a misspelt field, a wrong type and an unknown kind",
          all(schema_errors(d, versions[-1:]) for d in (misspelt, wrong_type, unknown_kind)), "")

    namespace = docs.get("Namespace", {}).get("metadata", {}).get("name")
    check(f"[names] every resource is in the namespace namespace.yaml creates ({namespace})",
          all(d["metadata"].get("namespace") == namespace for k, d in docs.items() if k != "Namespace"),
          {k: d["metadata"].get("namespace") for k, d in docs.items()})
    check("[names] the namespace enforces the restricted Pod Security Standard",
          docs.get("Namespace", {}).get("metadata", {}).get("labels", {}).get("pod-security.kubernetes.io/enforce")
          == "restricted", docs.get("Namespace"))

    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    matches = lambda selector: selector and all(labels.get(k) == v for k, v in selector.items())  # noqa: E731
    check("[names] the Deployment's selector matches its pods' labels", matches(deployment["spec"]["selector"]["matchLabels"]),
          deployment["spec"]["selector"])
    service, pdb, hpa = docs.get("Service", {}), docs.get("PodDisruptionBudget", {}), docs.get("HorizontalPodAutoscaler", {})
    check("[names] the Service and the PodDisruptionBudget select the Deployment's pods",
          matches(service["spec"]["selector"]) and matches(pdb["spec"]["selector"]["matchLabels"]), "")
    target = hpa["spec"]["scaleTargetRef"]
    check("[names] the HorizontalPodAutoscaler scales the Deployment",
          (target["apiVersion"], target["kind"], target["name"]) == ("apps/v1", "Deployment", deployment["metadata"]["name"]),
          target)
    container = pod["spec"]["containers"][0]
    refs = {(k, e[k]["name"]) for e in container.get("envFrom", []) for k in ("configMapRef", "secretRef") if k in e}
    check("[names] the container takes its environment from configmap.yaml's ConfigMap and secret.yaml's Secret",
          refs == {("configMapRef", docs["ConfigMap"]["metadata"]["name"]), ("secretRef", docs["Secret"]["metadata"]["name"])},
          refs)

    # The image: its reference, port and user.
    server = json.loads((ROOT / "packaging" / "server.json").read_text())
    image = [p["identifier"] for p in server["packages"] if p["registryType"] == "oci"][0]
    check(f"[image] the container runs server.json's OCI image ({image})", container["image"] == image, container["image"])
    containerfile = (ROOT / "packaging" / "container" / "Containerfile").read_text()
    port = int(re.search(r"DOCSPACE_PORT=(\d+)", containerfile).group(1))
    uid = int(re.search(r"^USER (\d+)", containerfile, re.M).group(1))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    check(f"[image] the container port is the image's DOCSPACE_PORT ({port})", list(ports.values()) == [port], ports)
    check("[names] the Service's targetPort is the container's port",
          all(p["targetPort"] in ports or p["targetPort"] == port for p in service["spec"]["ports"]), service["spec"]["ports"])

    # Probes: /health, on that port, with a Host the server accepts.
    config = docs["ConfigMap"]["data"]
    allowed = {h.strip() for h in config.get("DOCSPACE_SERVER_ALLOWED_HOSTNAMES", "localhost,127.0.0.1,[::1]").split(",")}
    probes = {k: container.get(k) for k in ("startupProbe", "readinessProbe", "livenessProbe")}
    gets = {k: (p or {}).get("httpGet", {}) for k, p in probes.items()}
    check("[probes] startup, readiness and liveness probes GET /health on the container's port",
          all(g.get("path") == "/health" and g.get("port") in ports for g in gets.values()), probes)
    hosts = {k: [h["value"] for h in g.get("httpHeaders", []) if h["name"].lower() == "host"] for k, g in gets.items()}
    check("[probes] their Host header is one of DOCSPACE_SERVER_ALLOWED_HOSTNAMES (the kubelet would send the pod's IP)",
          all(len(h) == 1 and h[0] in allowed for h in hosts.values()), {"hosts": hosts, "allowed": sorted(allowed)})

    # Lockdown.
    psc, csc = pod["spec"].get("securityContext", {}), container.get("securityContext", {})
    either = lambda key: csc.get(key, psc.get(key))  # noqa: E731
    check("[security] runAsNonRoot, as the image's numeric user",
          either("runAsNonRoot") is True and either("runAsUser") in (None, uid), (psc, csc))
    check("[security] readOnlyRootFilesystem, allowPrivilegeEscalation false, every capability dropped",
          csc.get("readOnlyRootFilesystem") is True and csc.get("allowPrivilegeEscalation") is False
          and csc.get("capabilities", {}).get("drop") == ["ALL"] and not csc.get("capabilities", {}).get("add"), csc)
    check("[security] seccomp profile RuntimeDefault",
          (either("seccompProfile") or {}).get("type") == "RuntimeDefault", (psc, csc))
    check("[security] no service-account token, no service links (they would inject DOCSPACE_MCP_* variables)",
          pod["spec"].get("automountServiceAccountToken") is False and pod["spec"].get("enableServiceLinks") is False,
          pod["spec"])

    # Resources.
    res = container.get("resources", {})
    req, lim = res.get("requests", {}), res.get("limits", {})
    values = {f"{k}.{r}": quantity(v) for k, d in (("requests", req), ("limits", lim)) for r, v in d.items()}
    check("[resources] CPU and memory requests and a memory limit, as valid quantities",
          {"requests.cpu", "requests.memory", "limits.memory"} <= set(values) and None not in values.values(), res)
    check("[resources] the memory limit is at least the request",
          (values.get("limits.memory") or 0) >= (values.get("requests.memory") or float("inf")), res)

    # Shutdown: the preStop pause and the server's grace fit in the pod's.
    grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
    pause = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    shutdown = int(config.get("DOCSPACE_SHUTDOWN_GRACE", 20))
    check(f"[shutdown] preStop pause ({pause} s) + DOCSPACE_SHUTDOWN_GRACE ({shutdown} s) < terminationGracePeriodSeconds ({grace} s)",
          pause + shutdown < grace, "")

    # Scaling and disruptions.
    metrics = hpa["spec"].get("metrics", [])
    check("[scaling] autoscaling/v2 on CPU utilization",
          hpa["apiVersion"] == "autoscaling/v2" and any(m.get("resource", {}).get("name") == "cpu"
                                                         and m["resource"]["target"]["type"] == "Utilization" for m in metrics), metrics)
    check("[scaling] the autoscaler's minimum leaves the PodDisruptionBudget a pod to evict",
          hpa["spec"].get("minReplicas", 1) > pdb["spec"].get("minAvailable", 0), (hpa["spec"], pdb["spec"]))

    # Settings: every variable is one the server reads (docs/configuration.md is generated from its
    # command line).
    documented = set(re.findall(r"`(DOCSPACE_[A-Z0-9_]+)`", (ROOT / "docs" / "configuration.md").read_text()))
    keys = set(config) | set(docs["Secret"].get("stringData", {})) | set(docs["Secret"].get("data", {}))
    check("[settings] every ConfigMap and Secret variable is a setting of the server",
          keys <= documented, sorted(keys - documented))
    # Several replicas share one store, so no request needs to reach the pod that served the last one.
    check("[replicas] the shared store is configured: DOCSPACE_STATE_URL in the ConfigMap, its key in the Secret",
          "DOCSPACE_STATE_URL" in config and "DOCSPACE_STATE_SECRET_KEY" in docs["Secret"].get("stringData", {}),
          sorted(keys))
    check("[replicas] the Service has no session affinity (any pod serves any request)",
          docs["Service"]["spec"].get("sessionAffinity", "None") == "None", docs["Service"]["spec"])
    secrets = docs["Secret"].get("stringData", {})
    check("[settings] secret.yaml holds placeholders only (REPLACE-…), never a real secret",
          secrets and all(str(v).startswith("REPLACE-") for v in secrets.values()) and not docs["Secret"].get("data"),
          sorted(secrets))
    finish()


if __name__ == "__main__":
    if sys.argv[1] == "env":
        env(sys.argv[2:])
    else:
        main(sys.argv[2], sys.argv[3])
