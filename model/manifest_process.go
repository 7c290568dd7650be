package model

import (
	"path"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"slices"
	"strings"
)

// What runs with a service's process: hooks, volumes, an init container,
// where it may run.

// parseProcess reads lifecycle, volumes, volumeOptions, initContainer and
// nodeSelectorLabels.
func parseProcess(o object, s *Service) error {
	var err error
	if s.Lifecycle, err = parseLifecycle(o.get("lifecycle")); err != nil {
		return err
	}
	if s.Volumes, err = parseVolumes(o.get("volumes"), nil); err != nil {
		return err
	}
	if s.Volumes, err = parseVolumeOptions(o.get("volumeOptions"), s.Volumes); err != nil {
		return err
	}
	if s.InitContainer, err = parseInitContainer(o.get("initContainer")); err != nil {
		return err
	}
	s.NodeSelectorLabels, err = parseNodeSelector(o.get("nodeSelectorLabels"))
	return err
}

var lifecycleFields = fields{known: []string{"postStart", "preStop"}}

func parseLifecycle(v val) (Lifecycle, error) {
	var l Lifecycle
	o, err := v.object("a map with preStop and postStart", lifecycleFields)
	if err == nil {
		l.PreStop, err = parseCommand(o.get("preStop"))
	}
	if err == nil {
		l.PostStart, err = parseCommand(o.get("postStart"))
	}
	return l, err
}

// hostVolumes are the paths Convox mounts from the node when written
// alone (provider/k8s systemVolume); any other "/path" alone is a scratch
// directory.
var hostVolumes = []string{
	"/cgroup/", "/proc/", "/sys/fs/cgroup/", "/sys/kernel/debug/", "/var/log/audit/",
	"/var/run/", "/var/run/docker.sock", "/var/snap/microk8s/current/docker.sock",
}

// parseVolumes reads Convox's volumes: "/path" is a directory of each
// process, empty at its start (Convox mounts an emptyDir for it), unless
// it is one of the node's (hostVolumes); "/node/dir:/path" mounts the
// node's directory; "name:/path" is the shared volume name.
func parseVolumes(v val, out []Volume) ([]Volume, error) {
	items, err := v.items("a list of paths or name:/path strings")
	if err != nil {
		return nil, err
	}
	for _, in := range items {
		text, err := in.str("a path or name:/path")
		if err != nil {
			return nil, err
		}
		from, to, named := strings.Cut(strings.TrimSpace(text), ":")
		var vol Volume
		switch {
		case !named && slices.Contains(hostVolumes, from):
			vol = Volume{Host: path.Clean(from), Path: from}
		case !named:
			vol = Volume{Path: from}
		case strings.HasPrefix(from, "/"):
			vol = Volume{Host: path.Clean(from), Path: to}
		default:
			vol = Volume{Name: from, Path: to}
		}
		if out, err = addVolume(in, out, vol); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// addVolume checks vol's path and adds it, sorted by path.
func addVolume(at val, vols []Volume, vol Volume) ([]Volume, error) {
	if vol.Host == "" && vol.Name != "" && !validVolumeName(vol.Name) {
		return nil, at.errorf("invalid volume name%s: use at most 56 lower-case letters, digits and dashes, starting and ending with a letter or digit", q(" ", truncate(vol.Name, 80)))
	}
	if !strings.HasPrefix(vol.Path, "/") {
		return nil, at.errorf("must mount at an absolute path like /data%s", q(", not ", vol.Path))
	}
	vol.Path = path.Clean(vol.Path)
	i, found := slices.BinarySearchFunc(vols, vol.Path, func(v Volume, p string) int { return strings.Compare(v.Path, p) })
	if found {
		return nil, at.errorf("mounts a second volume at%s: keep one", q(" ", vol.Path))
	}
	return slices.Insert(vols, i, vol), nil
}

// validVolumeName: "shared-" and "volume-" before it make Kubernetes
// names of at most 63 characters.
func validVolumeName(name string) bool {
	return len(name) <= 56 && len(content.IsDNS1123Label(name)) == 0
}

var volumeOptionFields = fields{known: []string{"awsEfs", "azureFiles", "emptyDir"}}

var volumeSourceFields = fields{
	known:   []string{"id", "mountPath"},
	ignored: []string{"accessMode", "medium", "shareSize", "sizeLimit", "storageClass", "volumeHandle"},
}

// parseVolumeOptions reads Convox's volumeOptions. An emptyDir is a
// directory of each process, as a "/path" volume is (its id only ties
// Convox's init container to it). awsEfs and azureFiles are storage shared
// by the processes: slipway's shared volume named by the id.
func parseVolumeOptions(v val, out []Volume) ([]Volume, error) {
	items, err := v.items("a list of maps with emptyDir, awsEfs or azureFiles")
	if err != nil {
		return nil, err
	}
	for _, in := range items {
		o, err := in.object("a map with emptyDir, awsEfs or azureFiles", volumeOptionFields)
		if err != nil {
			return nil, err
		}
		for _, kind := range volumeOptionFields.known {
			src := o.get(kind)
			if src.kind() == kNull {
				continue
			}
			so, err := src.object("a map with id and mountPath", volumeSourceFields)
			if err != nil {
				return nil, err
			}
			var id, mount string
			for _, f := range []struct {
				key string
				dst *string
			}{{"id", &id}, {"mountPath", &mount}} {
				fn := so.get(f.key)
				if fn.kind() == kNull {
					return nil, src.errorf("needs %s: write {id: data, mountPath: /data}", f.key)
				}
				if *f.dst, err = fn.str("a string"); err != nil {
					return nil, err
				}
			}
			vol := Volume{Path: mount}
			if kind != "emptyDir" {
				vol.Name = id
			}
			if out, err = addVolume(so.get("mountPath"), out, vol); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

var initContainerFields = fields{known: []string{"command", "image"}, ignored: []string{"configMounts", "volumeOptions"}}

func parseInitContainer(v val) (*InitContainer, error) {
	if v.kind() == kNull {
		return nil, nil
	}
	o, err := v.object("a map with image and command", initContainerFields)
	if err != nil {
		return nil, err
	}
	ic := &InitContainer{}
	if in := o.get("image"); in.kind() != kNull {
		if ic.Image, err = parseImage(in); err != nil {
			return nil, err
		}
	}
	ic.Command, err = parseCommand(o.get("command"))
	return ic, err
}
