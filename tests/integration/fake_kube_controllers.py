"""The fake Kubernetes API server's simulated controllers: deployment controller, scheduler,
PV binder, kubelet, endpoints and endpointslice controllers. Deterministic; called with the
server's lock held."""

import copy
import hashlib
import json
import time
import uuid

from fake_kube_objects import (BY_KIND, BY_PLURAL, _safe_hash, now_rfc3339, parse_quantity,
                               pod_security_refusal, selector_matches)


# --------------------------------------------------------------------------------------
# Simulated controllers: scheduler, PV binder, deployment controller, kubelet, endpoints


class Controllers:
    """Reconciles the store; called with the server's lock held, every 50 ms."""

    def __init__(self, api):
        self.api = api

    # -- helpers

    def all(self, plural, ns=None):
        return [o for k, o in list(self.api._store.items())
                if k[0] == plural and (ns is None or k[1] == ns)]

    def get(self, plural, ns, name):
        res = BY_PLURAL[plural]
        return self.api._store.get((plural, ns if res.namespaced else None, name))

    def write_status(self, plural, live, status, manager):
        if live.get("status") == status:
            return live
        res = BY_PLURAL[plural]
        new = copy.deepcopy(live)
        new["status"] = copy.deepcopy(status)
        self.api._update_managed(res, live, new, manager, subresource="status")
        return self.api._write(res, new, live)

    def write(self, plural, live, new, manager):
        res = BY_PLURAL[plural]
        self.api._update_managed(res, live, new, manager)
        return self.api._write(res, new, live)

    def delete(self, obj):
        res = BY_KIND[(obj["apiVersion"], obj["kind"])]
        self.api._store.pop(self.api._key(res, obj["metadata"].get("namespace"),
                                          obj["metadata"]["name"]), None)
        self.api._rv += 1

    def state(self, obj):
        return self.api._ctl.setdefault(obj["metadata"]["uid"], {})

    def event(self, obj, etype, reason, message, component):
        meta = obj["metadata"]
        ns = meta.get("namespace") or "default"
        st = self.state(obj)
        seen = st.setdefault("events", set())
        if (reason, message) in seen:
            return
        seen.add((reason, message))
        t = now_rfc3339()
        ev = {"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": ns},
              "involvedObject": {"kind": obj["kind"], "namespace": meta.get("namespace"),
                                 "name": meta["name"], "uid": meta["uid"],
                                 "apiVersion": obj["apiVersion"],
                                 "resourceVersion": meta.get("resourceVersion")},
              "reason": reason, "message": message, "type": etype,
              "source": {"component": component}, "firstTimestamp": t, "lastTimestamp": t,
              "count": 1, "reportingComponent": component, "reportingInstance": ""}
        if not meta.get("namespace"):
            ev["involvedObject"].pop("namespace")
        self.api._create_internal(ev, component)

    def nodes(self):
        return self.all("nodes")  # in the order they were added

    # -- the loop body

    def reconcile(self):
        self.namespaces()
        self.deployments()
        self.pvs()
        self.immediate_binding()
        self.scheduler()
        self.kubelet()
        self.deployment_status()
        self.endpoints()

    def namespaces(self):
        for ns in self.all("namespaces"):
            if ns["metadata"].get("deletionTimestamp"):
                name = ns["metadata"]["name"]
                for key in [k for k in self.api._store if k[1] == name]:
                    del self.api._store[key]
                self.delete(ns)

    def deployments(self):
        api = self.api
        deps = {d["metadata"]["uid"]: d for d in self.all("deployments")}
        for pod in self.all("pods"):
            owner = self.state(pod).get("deployment")
            if owner and owner not in deps:
                self.delete(pod)  # garbage collection of an orphaned pod
        for dep in deps.values():
            meta, spec = dep["metadata"], dep.get("spec") or {}
            st = self.state(dep)
            tmpl = spec.get("template") or {}
            h = _safe_hash(json.dumps(tmpl, sort_keys=True), 10)
            if st.get("generation") != meta.get("generation"):
                st["generation"] = meta.get("generation")
                st["changed_at"] = time.monotonic()
            st["hash"] = h
            ns = meta["namespace"]
            owned = [p for p in self.all("pods", ns)
                     if self.state(p).get("deployment") == meta["uid"]]
            for p in owned:
                if p["metadata"]["labels"].get("pod-template-hash") != h:
                    self.delete(p)
            current = [p for p in owned if p["metadata"]["labels"].get("pod-template-hash") == h]
            want = spec.get("replicas", 1)
            for p in current[want:]:
                self.delete(p)
            rs_name = f"{meta['name']}-{h}"
            rs_uid = str(uuid.uuid5(uuid.NAMESPACE_URL, meta["uid"] + h))
            i = 0
            while len(current) < want:
                name = f"{rs_name}-{_safe_hash(meta['uid'] + h + str(i), 5)}"
                i += 1
                if self.get("pods", ns, name):
                    continue
                labels = dict((tmpl.get("metadata") or {}).get("labels") or {})
                labels["pod-template-hash"] = h
                pod = {"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": name, "generateName": rs_name + "-",
                                    "namespace": ns, "labels": labels,
                                    "ownerReferences": [{"apiVersion": "apps/v1",
                                                         "kind": "ReplicaSet", "name": rs_name,
                                                         "uid": rs_uid, "controller": True,
                                                         "blockOwnerDeletion": True}]},
                       "spec": copy.deepcopy(tmpl.get("spec") or {}),
                       "status": {"phase": "Pending", "qosClass": "BestEffort"}}
                refused = pod_security_refusal(self.get("namespaces", None, ns), pod, api.pod_security_default)
                if refused:
                    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                          "metadata": {"name": rs_name, "namespace": ns, "uid": rs_uid}}
                    self.event(rs, "Warning", "FailedCreate", f"Error creating: {refused.status()['message']}",
                               "replicaset-controller")
                    break
                created = api._create_internal(pod, "kube-controller-manager")
                self.state(created)["deployment"] = meta["uid"]
                current.append(created)
                self.event(dep, "Normal", "ScalingReplicaSet",
                           f"Scaled up replica set {rs_name} to {want}",
                           "deployment-controller")

    def pvs(self):
        pvcs = {(c["metadata"]["namespace"], c["metadata"]["name"]): c
                for c in self.all("persistentvolumeclaims")}
        for pv in self.all("persistentvolumes"):
            phase = (pv.get("status") or {}).get("phase")
            ref = (pv.get("spec") or {}).get("claimRef")
            if ref and ref.get("uid"):
                claim = pvcs.get((ref.get("namespace"), ref.get("name")))
                if claim is None or claim["metadata"]["uid"] != ref["uid"]:
                    if phase != "Released":
                        self.write_status("persistentvolumes", pv, {"phase": "Released"},
                                          "kube-controller-manager")
                    continue
            if phase == "Pending" and not ref:
                self.write_status("persistentvolumes", pv, {"phase": "Available"},
                                  "kube-controller-manager")

    def storage_class(self, pvc):
        name = (pvc.get("spec") or {}).get("storageClassName")
        return self.get("storageclasses", None, name) if name else None

    def candidate_pv(self, pvc, hostname=None):
        """The PV a claim would bind to (on a node with that hostname, if given)."""
        spec = pvc.get("spec") or {}
        want = parse_quantity(((spec.get("resources") or {}).get("requests") or {})
                              .get("storage")) or 0
        modes = set(spec.get("accessModes") or [])
        for pv in self.all("persistentvolumes"):
            ps = pv.get("spec") or {}
            if spec.get("volumeName") and pv["metadata"]["name"] != spec["volumeName"]:
                continue
            ref = ps.get("claimRef")
            if ref and (ref.get("namespace"), ref.get("name")) != (
                    pvc["metadata"]["namespace"], pvc["metadata"]["name"]):
                continue
            if ref and ref.get("uid") and ref["uid"] != pvc["metadata"]["uid"]:
                continue
            if (pv.get("status") or {}).get("phase") in ("Released", "Failed"):
                continue
            if (ps.get("storageClassName") or "") != (spec.get("storageClassName") or ""):
                continue
            if (parse_quantity((ps.get("capacity") or {}).get("storage")) or 0) < want:
                continue
            if not modes <= set(ps.get("accessModes") or []):
                continue
            if hostname is not None and pv_hostname(pv) not in (None, hostname):
                continue
            return pv
        return None

    def bind(self, pvc, pv):
        pvc_meta = pvc["metadata"]
        new_pv = copy.deepcopy(pv)
        new_pv["spec"]["claimRef"] = {"kind": "PersistentVolumeClaim",
                                      "namespace": pvc_meta["namespace"],
                                      "name": pvc_meta["name"], "uid": pvc_meta["uid"],
                                      "apiVersion": "v1",
                                      "resourceVersion": pvc_meta["resourceVersion"]}
        pv = self.write("persistentvolumes", pv, new_pv, "kube-controller-manager")
        pv = self.write_status("persistentvolumes", pv, {"phase": "Bound"},
                               "kube-controller-manager")
        new_pvc = copy.deepcopy(pvc)
        new_pvc["spec"]["volumeName"] = pv["metadata"]["name"]
        ann = new_pvc["metadata"].setdefault("annotations", {})
        ann["pv.kubernetes.io/bind-completed"] = "yes"
        ann["pv.kubernetes.io/bound-by-controller"] = "yes"
        pvc = self.write("persistentvolumeclaims", pvc, new_pvc, "kube-controller-manager")
        self.write_status("persistentvolumeclaims", pvc,
                          {"phase": "Bound", "accessModes": pv["spec"].get("accessModes"),
                           "capacity": pv["spec"].get("capacity")},
                          "kube-controller-manager")

    def immediate_binding(self):
        for pvc in self.all("persistentvolumeclaims"):
            if (pvc.get("status") or {}).get("phase") != "Pending":
                continue
            sc = self.storage_class(pvc)
            if sc and sc.get("volumeBindingMode") == "WaitForFirstConsumer":
                self.event(pvc, "Normal", "WaitForFirstConsumer",
                           "waiting for first consumer to be created before binding",
                           "persistentvolume-controller")
                continue
            pv = self.candidate_pv(pvc)
            if pv is not None:
                self.bind(pvc, pv)
            elif not sc and (pvc.get("spec") or {}).get("storageClassName"):
                self.event(pvc, "Warning", "ProvisioningFailed",
                           f'storageclass.storage.k8s.io "{pvc["spec"]["storageClassName"]}" '
                           "not found", "persistentvolume-controller")

    def scheduler(self):
        api = self.api
        nodes = self.nodes()
        for pod in self.all("pods"):
            spec = pod.get("spec") or {}
            if spec.get("nodeName"):
                continue
            ns = pod["metadata"]["namespace"]
            n = len(nodes)
            why, target = None, None
            claims, hostname = [], None
            if not api.schedule_pods:
                why = f"{n} node(s) didn't match Node affinity/selector"
            elif not nodes:
                why = "no nodes"
            for v in spec.get("volumes") or [] if why is None else []:
                cn = (v.get("persistentVolumeClaim") or {}).get("claimName")
                if not cn:
                    continue
                pvc = self.get("persistentvolumeclaims", ns, cn)
                if pvc is None:
                    why = f'persistentvolumeclaim "{cn}" not found'
                    break
                if (pvc.get("status") or {}).get("phase") == "Bound":
                    pv = self.get("persistentvolumes", None, pvc["spec"].get("volumeName"))
                else:
                    pv = self.candidate_pv(pvc)
                    if pv is None:
                        why = f"{n} node(s) didn't find available persistent volumes to bind"
                        break
                claims.append((pvc, pv))
                hostname = pv_hostname(pv) if pv else hostname
            if why is None:
                if api.pod_node is not None:
                    target = next((x for x in nodes if x["metadata"]["name"] == api.pod_node),
                                  None)
                    if target is None:
                        why = f"{n} node(s) didn't match Node affinity/selector"
                elif hostname is not None:
                    target = next((x for x in nodes if (x["metadata"].get("labels") or {})
                                   .get("kubernetes.io/hostname") == hostname), None)
                    if target is None:
                        why = f"{n} node(s) had volume node affinity conflict"
                else:
                    sel = spec.get("nodeSelector") or {}
                    target = next((x for x in nodes if all(
                        (x["metadata"].get("labels") or {}).get(k) == v
                        for k, v in sel.items())), None)
                    if target is None:
                        why = f"{n} node(s) didn't match Pod's node affinity/selector"
            if why is not None:
                if why == "no nodes":
                    msg = "no nodes available to schedule pods"
                elif why.startswith("persistentvolumeclaim"):
                    msg = f"0/{n} nodes are available: {why}. preemption: 0/{n} nodes are " \
                          f"available: {n} Preemption is not helpful for scheduling."
                else:
                    msg = f"0/{n} nodes are available: {why}. preemption: 0/{n} nodes are " \
                          f"available: {n} Preemption is not helpful for scheduling."
                cond = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                        "lastTransitionTime": self.state(pod).setdefault("unsched_at",
                                                                         now_rfc3339()),
                        "reason": "Unschedulable", "message": msg}
                self.write_status("pods", pod, {"phase": "Pending", "conditions": [cond],
                                                "qosClass": "BestEffort"}, "kube-scheduler")
                self.event(pod, "Warning", "FailedScheduling", msg, "default-scheduler")
                continue
            node = target["metadata"]["name"]
            for pvc, pv in claims:
                if (pvc.get("status") or {}).get("phase") != "Bound" and pv is not None:
                    self.bind(pvc, pv)
            new = copy.deepcopy(pod)
            new["spec"]["nodeName"] = node
            pod = self.write("pods", pod, new, "kube-scheduler")
            t = now_rfc3339()
            self.write_status("pods", pod, {
                "phase": "Pending", "qosClass": "BestEffort",
                "conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                "lastTransitionTime": t}]}, "kube-scheduler")
            self.state(pod)["scheduled_at"] = time.monotonic()
            self.event(pod, "Normal", "Scheduled",
                       f"Successfully assigned {ns}/{pod['metadata']['name']} to {node}",
                       "default-scheduler")

    def kubelet(self):
        api = self.api
        for pod in self.all("pods"):
            st = self.state(pod)
            node_name = (pod.get("spec") or {}).get("nodeName")
            if not node_name or "scheduled_at" not in st:
                continue
            if "ip" not in st:
                st["ip"] = f"10.244.0.{api._pod_ip_counter}"
                api._pod_ip_counter += 1
            node = self.get("nodes", None, node_name)
            host_ip = ((node or {}).get("status", {}).get("addresses") or
                       [{"address": "10.0.0.1"}])[0]["address"]
            ready = api.container_waiting is None and \
                time.monotonic() >= st["scheduled_at"] + api.ready_delay
            t0 = st.setdefault("t0", now_rfc3339())
            if ready:
                t1 = st.setdefault("t1", now_rfc3339())
            containers = (pod.get("spec") or {}).get("containers") or []
            cstat = []
            for c in containers:
                s = {"name": c.get("name"), "image": c.get("image"), "imageID": "",
                     "ready": ready, "restartCount": 0, "started": ready}
                if ready:
                    s["state"] = {"running": {"startedAt": t1}}
                    s["containerID"] = "containerd://" + hashlib.sha256(
                        (pod["metadata"]["uid"] + str(c.get("name"))).encode()).hexdigest()
                    s["imageID"] = f"{c.get('image')}@sha256:" + hashlib.sha256(
                        str(c.get("image")).encode()).hexdigest()
                else:
                    reason = api.container_waiting or "ContainerCreating"
                    s["state"] = {"waiting": {"reason": reason}}
                    if api.container_waiting:
                        s["state"]["waiting"]["message"] = \
                            f'Back-off pulling image "{c.get("image")}"'
                cstat.append(s)
            rs = "True" if ready else "False"
            conds = [{"type": "Initialized", "status": "True", "lastProbeTime": None,
                      "lastTransitionTime": t0},
                     {"type": "Ready", "status": rs, "lastProbeTime": None,
                      "lastTransitionTime": t1 if ready else t0},
                     {"type": "ContainersReady", "status": rs, "lastProbeTime": None,
                      "lastTransitionTime": t1 if ready else t0},
                     {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                      "lastTransitionTime": t0}]
            if not ready:
                names = ", ".join(c.get("name") or "" for c in containers)
                for c in conds[1:3]:
                    c["reason"] = "ContainersNotReady"
                    c["message"] = f"containers with unready status: [{names}]"
            status = {"phase": "Running" if ready else "Pending", "conditions": conds,
                      "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
                      "podIP": st["ip"], "podIPs": [{"ip": st["ip"]}], "startTime": t0,
                      "containerStatuses": cstat, "qosClass": "BestEffort"}
            self.write_status("pods", pod, status, "kubelet")

    def deployment_status(self):
        for dep in self.all("deployments"):
            meta, spec = dep["metadata"], dep.get("spec") or {}
            st = self.state(dep)
            h = st.get("hash")
            owned = [p for p in self.all("pods", meta["namespace"])
                     if self.state(p).get("deployment") == meta["uid"]]
            updated = [p for p in owned if p["metadata"]["labels"].get("pod-template-hash") == h]
            ready = [p for p in owned if any(c.get("type") == "Ready" and c.get("status") ==
                                             "True" for c in (p.get("status") or {})
                                             .get("conditions") or [])]
            want = spec.get("replicas", 1)
            rs_name = f"{meta['name']}-{h}"
            old = dep.get("status") or {}
            oldc = {c["type"]: c for c in old.get("conditions") or []}
            t = now_rfc3339()

            def cond(ctype, status, reason, message):
                prev = oldc.get(ctype)
                same = prev and prev.get("status") == status and prev.get("reason") == reason
                return {"type": ctype, "status": status,
                        "lastUpdateTime": prev["lastUpdateTime"] if same else t,
                        "lastTransitionTime": prev["lastTransitionTime"]
                        if prev and prev.get("status") == status else t,
                        "reason": reason, "message": message}
            available = len(ready) >= want
            conds = [cond("Available", "True", "MinimumReplicasAvailable",
                          "Deployment has minimum availability.") if available else
                     cond("Available", "False", "MinimumReplicasUnavailable",
                          "Deployment does not have minimum availability.")]
            complete = len(updated) == want and len(ready) >= want and len(owned) == want
            deadline = spec.get("progressDeadlineSeconds", 600)
            if complete:
                conds.append(cond("Progressing", "True", "NewReplicaSetAvailable",
                                  f'ReplicaSet "{rs_name}" has successfully progressed.'))
            elif time.monotonic() - st.get("changed_at", time.monotonic()) > deadline:
                conds.append(cond("Progressing", "False", "ProgressDeadlineExceeded",
                                  f'ReplicaSet "{rs_name}" has timed out progressing.'))
            else:
                conds.append(cond("Progressing", "True", "ReplicaSetUpdated",
                                  f'ReplicaSet "{rs_name}" is progressing.'))
            status = {"observedGeneration": meta.get("generation", 1)}
            if owned:
                status["replicas"] = len(owned)
            if updated:
                status["updatedReplicas"] = len(updated)
            if ready:
                status["readyReplicas"] = len(ready)
                status["availableReplicas"] = len(ready)
            if len(owned) - len(ready) > 0:
                status["unavailableReplicas"] = len(owned) - len(ready)
            status["conditions"] = conds
            self.write_status("deployments", dep, status, "kube-controller-manager")

    def endpoints(self):
        api = self.api
        services = {(s["metadata"]["namespace"], s["metadata"]["name"]): s
                    for s in self.all("services")}
        for ep in self.all("endpoints"):
            if (ep["metadata"]["namespace"], ep["metadata"]["name"]) not in services:
                self.delete(ep)
        for sl in self.all("endpointslices"):
            svc = (sl["metadata"].get("labels") or {}).get("kubernetes.io/service-name")
            if (sl["metadata"]["namespace"], svc) not in services:
                self.delete(sl)
        for (ns, name), svc in sorted(services.items()):
            spec = svc.get("spec") or {}
            sel = spec.get("selector")
            if not sel:
                continue
            pods = [p for p in self.all("pods", ns)
                    if selector_matches({"matchLabels": sel}, p["metadata"].get("labels"))
                    and (p.get("status") or {}).get("podIP")]
            ready = lambda p: any(c.get("type") == "Ready" and c.get("status") == "True"
                                  for c in (p.get("status") or {}).get("conditions") or [])
            ports = []
            for sp in spec.get("ports") or []:
                tp = sp.get("targetPort", sp.get("port"))
                if isinstance(tp, str):
                    tp = next((cp.get("containerPort") for p in pods
                               for c in p["spec"].get("containers") or []
                               for cp in c.get("ports") or [] if cp.get("name") == tp), None)
                    if tp is None:
                        continue
                port = {"port": tp, "protocol": sp.get("protocol", "TCP")}
                if sp.get("name"):
                    port = {"name": sp["name"], **port}
                ports.append(port)

            def addr(p):
                return {"ip": p["status"]["podIP"], "nodeName": p["spec"].get("nodeName"),
                        "targetRef": {"kind": "Pod", "namespace": ns,
                                      "name": p["metadata"]["name"],
                                      "uid": p["metadata"]["uid"]}}
            subset = {}
            if any(ready(p) for p in pods):
                subset["addresses"] = [addr(p) for p in pods if ready(p)]
            if any(not ready(p) for p in pods):
                subset["notReadyAddresses"] = [addr(p) for p in pods if not ready(p)]
            ep_obj = {"apiVersion": "v1", "kind": "Endpoints",
                      "metadata": {"name": name, "namespace": ns,
                                   "labels": dict(svc["metadata"].get("labels") or {})}}
            if subset and ports:
                subset["ports"] = ports
                ep_obj["subsets"] = [subset]
            if not ep_obj["metadata"]["labels"]:
                del ep_obj["metadata"]["labels"]
            live = self.get("endpoints", ns, name)
            if live is None:
                api._create_internal(ep_obj, "kube-controller-manager")
            else:
                new = copy.deepcopy(live)
                new.pop("subsets", None)
                new.update({k: v for k, v in ep_obj.items() if k != "metadata"})
                self.write("endpoints", live, new, "kube-controller-manager")
            slice_name = f"{name}-{_safe_hash(svc['metadata']['uid'], 5)}"
            labels = dict(svc["metadata"].get("labels") or {})
            labels.update({"kubernetes.io/service-name": name,
                           "endpointslice.kubernetes.io/managed-by":
                           "endpointslice-controller.k8s.io"})
            endpoints = [{"addresses": [p["status"]["podIP"]],
                          "conditions": {"ready": ready(p), "serving": ready(p),
                                         "terminating": False},
                          "nodeName": p["spec"].get("nodeName"),
                          "targetRef": {"kind": "Pod", "namespace": ns,
                                        "name": p["metadata"]["name"],
                                        "uid": p["metadata"]["uid"]}} for p in pods]
            sl_obj = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                      "metadata": {"name": slice_name, "namespace": ns, "labels": labels,
                                   "generateName": name + "-",
                                   "ownerReferences": [{"apiVersion": "v1", "kind": "Service",
                                                        "name": name,
                                                        "uid": svc["metadata"]["uid"],
                                                        "controller": True,
                                                        "blockOwnerDeletion": True}]},
                      "addressType": "IPv4", "endpoints": endpoints or None,
                      "ports": [dict(p, name=p.get("name", "")) for p in ports] or None}
            live = self.get("endpointslices", ns, slice_name)
            if live is None:
                api._create_internal(sl_obj, "endpointslice-controller.k8s.io")
            else:
                new = copy.deepcopy(live)
                new["endpoints"], new["ports"] = sl_obj["endpoints"], sl_obj["ports"]
                self.write("endpointslices", live, new, "endpointslice-controller.k8s.io")


def pv_hostname(pv):
    """The kubernetes.io/hostname value a PV's node affinity requires, if any."""
    terms = ((((pv or {}).get("spec") or {}).get("nodeAffinity") or {}).get("required")
             or {}).get("nodeSelectorTerms") or []
    for term in terms:
        for e in term.get("matchExpressions") or []:
            if e.get("key") == "kubernetes.io/hostname" and e.get("operator") == "In" \
                    and e.get("values"):
                return e["values"][0]
    return None
