module platform.local/argocd-notifications

go 1.24

require github.com/argoproj/notifications-engine v0.5.0 // indirect
