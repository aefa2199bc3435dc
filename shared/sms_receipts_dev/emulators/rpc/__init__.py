"""What the Alibaba Cloud RPC-style emulators (dybaseapi, dysmsapi) share: the gateway's errors
(`exceptions`), its request signatures (`auth`: ACS3-HMAC-SHA256 and V1 HMAC-SHA1), the wire
(`wire`: parameters, action routing, JSON replies) and the request flow (`server.RpcEmulator`)."""
