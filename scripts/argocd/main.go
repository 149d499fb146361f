// Command argocd runs Argo CD's application controller or repo-server, built from the
// github.com/argoproj/argo-cd/v3 module, for the lab tests (scripts/lab/argocd.ts). It picks the
// component from its first argument or, like the upstream image, from the name it was started under
// (or ARGOCD_BINARY_NAME, which the repo-server sets when git calls back "argocd" as GIT_ASKPASS):
//
//	argocd application-controller [flags]   (or a link named argocd-application-controller)
//	argocd repo-server [flags]              (or a link named argocd-repo-server)
//	argocd git-ask-pass                     (git's credential helper, only through ARGOCD_BINARY_NAME)
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	appcontroller "github.com/argoproj/argo-cd/v3/cmd/argocd-application-controller/commands"
	gitaskpass "github.com/argoproj/argo-cd/v3/cmd/argocd-git-ask-pass/commands"
	reposerver "github.com/argoproj/argo-cd/v3/cmd/argocd-repo-server/commands"
	"github.com/argoproj/argo-cd/v3/util/log"
)

var components = map[string]func() *cobra.Command{
	"application-controller": appcontroller.NewCommand,
	"repo-server":            reposerver.NewCommand,
	"git-ask-pass":           gitaskpass.NewCommand,
}

func main() {
	// klog (client-go) logs through Argo CD's logrus configuration, as the upstream binary does.
	klog.SetLogger(log.NewLogrusLogger(log.NewWithCurrentConfig()))

	name := strings.TrimPrefix(filepath.Base(os.Args[0]), "argocd-")
	if env := os.Getenv("ARGOCD_BINARY_NAME"); env != "" {
		name = strings.TrimPrefix(env, "argocd-")
	}
	args := os.Args[1:]
	if _, ok := components[name]; !ok && len(args) > 0 {
		name, args = strings.TrimPrefix(args[0], "argocd-"), args[1:]
	}
	newCommand, ok := components[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "usage: argocd application-controller|repo-server [flags] (got %q)\n", name)
		os.Exit(2)
	}
	command := newCommand()
	command.SetArgs(args)
	if err := command.Execute(); err != nil {
		os.Exit(1)
	}
}
