// settings.js for Janus's demo pages as tools/demo serves them (in place of the one in Debian's
// janus-demos 1.1.2, which leaves `token` and `apisecret` undeclared, so every demo page stops with
// "token is not defined").
// The Janus HTTP API is on the page's host, port 8088 (configs/janus/janus.transport.http.jcfg).
var server = window.location.protocol + "//" + window.location.hostname + ":8088/janus";
// No STUN/TURN: the viewer and Janus reach each other directly (same machine or LAN).
var iceServers = [];
var token = null;
var apisecret = null;
