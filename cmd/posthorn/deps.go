package main
import (
 _ "github.com/emersion/go-smtp"
 _ "github.com/emersion/go-sasl"
 _ "github.com/pelletier/go-toml/v2"
 _ "github.com/prometheus/client_golang/prometheus"
)
func main(){}
