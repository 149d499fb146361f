package main

import _ "github.com/argoproj/notifications-engine/pkg/api"

func main() {}
