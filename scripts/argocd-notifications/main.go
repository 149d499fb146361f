// Command argocd-notifications runs Argo CD's notification engine (github.com/argoproj/notifications-engine,
// the library inside argocd-notifications-controller) on a rendered argocd-notifications-cm, a
// Secret and one Application, without a cluster: it parses the config as the controller does,
// evaluates every trigger, renders the templates of the triggered conditions per destination and,
// for the services named in "sendTo", sends them with the engine's own service clients.
//
//	stdin:  {"configMap": {...data}, "secret": {...string data}, "app": {...}, "context": {...}, "sendTo": ["name"]}
//	stdout: {"triggers": {...}, "destinations": {...}, "notifications": {...}, "sent": [...]}
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/services"
	"github.com/argoproj/notifications-engine/pkg/templates"
	"github.com/argoproj/notifications-engine/pkg/triggers"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type input struct {
	ConfigMap map[string]string      `json:"configMap"`
	Secret    map[string]string      `json:"secret"`
	App       map[string]interface{} `json:"app"`
	Context   map[string]string      `json:"context"`
	SendTo    []string               `json:"sendTo"`
}

type condition struct {
	Triggered bool     `json:"triggered"`
	OncePer   string   `json:"oncePer"`
	Templates []string `json:"templates"`
}

type sent struct {
	Trigger   string `json:"trigger"`
	Service   string `json:"service"`
	Recipient string `json:"recipient"`
	Error     string `json:"error,omitempty"`
}

type output struct {
	Services      []string                                     `json:"services"`
	Triggers      map[string][]condition                       `json:"triggers"`
	Destinations  map[string][]services.Destination            `json:"destinations"`
	Notifications map[string]map[string]*services.Notification `json:"notifications"`
	Sent          []sent                                       `json:"sent"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "argocd-notifications:", err)
		os.Exit(1)
	}
}

func run() error {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		return fmt.Errorf("reading input: %w", err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "argocd-notifications-secret", Namespace: "argocd"}, Data: map[string][]byte{}}
	for k, v := range in.Secret {
		secret.Data[k] = []byte(v)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "argocd-notifications-cm", Namespace: "argocd"}, Data: in.ConfigMap}
	cfg, err := api.ParseConfig(cm, secret)
	if err != nil {
		return fmt.Errorf("parsing the config: %w", err)
	}
	out := output{Triggers: map[string][]condition{}, Notifications: map[string]map[string]*services.Notification{}, Sent: []sent{}}
	for name, factory := range cfg.Services {
		if _, err := factory(); err != nil {
			return fmt.Errorf("service %s: %w", name, err)
		}
		out.Services = append(out.Services, name)
	}
	sort.Strings(out.Services)

	triggerSvc, err := triggers.NewService(cfg.Triggers)
	if err != nil {
		return fmt.Errorf("compiling triggers: %w", err)
	}
	templateSvc, err := templates.NewService(cfg.Templates)
	if err != nil {
		return fmt.Errorf("compiling templates: %w", err)
	}
	labels := map[string]string{}
	if meta, ok := in.App["metadata"].(map[string]interface{}); ok {
		if l, ok := meta["labels"].(map[string]interface{}); ok {
			for k, v := range l {
				labels[k] = fmt.Sprint(v)
			}
		}
	}
	out.Destinations = cfg.GetGlobalDestinations(labels)
	sendTo := map[string]bool{}
	for _, s := range in.SendTo {
		sendTo[s] = true
	}

	names := make([]string, 0, len(cfg.Triggers))
	for name := range cfg.Triggers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		results, err := triggerSvc.Run(name, map[string]interface{}{"app": in.App})
		if err != nil {
			return fmt.Errorf("trigger %s: %w", name, err)
		}
		for _, r := range results {
			out.Triggers[name] = append(out.Triggers[name], condition{Triggered: r.Triggered, OncePer: r.OncePer, Templates: r.Templates})
			if !r.Triggered {
				continue
			}
			for _, dest := range out.Destinations[name] {
				context := map[string]string{"notificationType": dest.Service}
				for k, v := range in.Context {
					context[k] = v
				}
				vars := map[string]interface{}{"app": in.App, "context": context, "serviceType": dest.Service}
				notification, err := templateSvc.FormatNotification(vars, r.Templates...)
				if err != nil {
					return fmt.Errorf("trigger %s, templates %v: %w", name, r.Templates, err)
				}
				if out.Notifications[name] == nil {
					out.Notifications[name] = map[string]*services.Notification{}
				}
				out.Notifications[name][dest.Service] = notification
				if sendTo[dest.Service] {
					svc, _ := cfg.Services[dest.Service]()
					result := sent{Trigger: name, Service: dest.Service, Recipient: dest.Recipient}
					if err := svc.Send(*notification, dest); err != nil {
						result.Error = err.Error()
					}
					out.Sent = append(out.Sent, result)
				}
			}
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
