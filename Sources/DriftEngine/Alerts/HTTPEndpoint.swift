#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where an HTTP request goes: host, port and request target of an `http://` URL.
///
/// Only `http://` is accepted: TLS is not supported, because Driftline has no TLS
/// library in its dependency budget (no SwiftNIO SSL, no OpenSSL binding), and a TLS
/// client written here would be a security liability. To reach an `https://` receiver,
/// put a TLS-terminating proxy (stunnel, nginx, envoy) on loopback in front of it.
///
/// Credentials in the URL (`http://user:password@host/`) are refused rather than sent,
/// and never echoed in an error; a bearer token comes from an environment variable
/// (``WebhookSink/Options/bearerTokenEnvironment``).
struct HTTPEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// A host name or an IP address (an IPv6 address without its brackets).
    var host: String
    var port: Int
    /// The request target: path and query, never empty (`/` at least).
    var target: String

    /// The URL again, as `http://host:port/target`.
    var description: String { "http://\(hostHeader)\(target)" }

    /// The `Host` header: the host, bracketed when IPv6, with the port unless it is 80.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? name : "\(name):\(port)"
    }

    /// Parses an `http://host[:port][/path][?query]` URL.
    ///
    /// - Throws: ``WebhookError`` naming what is wrong, in one line.
    init(url: String) throws(WebhookError) {
        // A URL holding '@' may hold credentials: never repeat it in a message.
        let shown = url.contains("@") ? "" : " \(url.debugDescription)"
        guard let schemeEnd = url.range(of: "://") else {
            throw WebhookError("webhook URL\(shown) is not an http:// URL (http://host:port/api/v2/alerts)")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" else {
            if scheme == "https" {
                throw WebhookError("webhook URL\(shown): https is not supported (no TLS library in Driftline's dependencies); use http://, through a local TLS-terminating proxy if the receiver needs TLS")
            }
            throw WebhookError("webhook URL\(shown): scheme \(scheme.debugDescription) is not supported; use http://")
        }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        if authority.contains("@") {
            throw WebhookError("webhook URL holds credentials (user:password@); they are not sent: use bearerTokenEnvironment for a token")
        }
        var target = String(rest[authorityEnd...])
        if let fragment = target.firstIndex(of: "#") { target = String(target[..<fragment]) }
        if target.isEmpty || target.first == "?" { target = "/" + target }
        if target.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || !$0.isASCII }) {
            throw WebhookError("webhook URL\(shown): the path holds a space, control or non-ASCII character; percent-encode it")
        }

        let host: Substring
        let portText: Substring?
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else {
                throw WebhookError("webhook URL\(shown): the IPv6 address has no closing ']'")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            guard after.isEmpty || after.first == ":" else {
                throw WebhookError("webhook URL\(shown): unexpected text after the IPv6 address")
            }
            portText = after.isEmpty ? nil : after.dropFirst()
            var address = in6_addr()
            guard inet_pton(AF_INET6, String(host), &address) == 1 else {
                throw WebhookError("webhook URL\(shown): \(String(host).debugDescription) is not an IPv6 address")
            }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
                portText = nil
            }
            guard !host.isEmpty else { throw WebhookError("webhook URL\(shown) has no host") }
            let isHostCharacter = { (c: Unicode.Scalar) in
                ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "." || c == "-" || c == "_"
            }
            guard host.unicodeScalars.allSatisfy(isHostCharacter) else {
                throw WebhookError("webhook URL\(shown): the host \(String(host).debugDescription) is not a host name or IPv4 address")
            }
        }
        var port = 80
        if let portText {
            guard let p = Int(portText), portText.allSatisfy(\.isASCIIDigitCharacter), (1...65535).contains(p) else {
                throw WebhookError("webhook URL\(shown): the port \(String(portText).debugDescription) is not a number in 1...65535")
            }
            port = p
        }
        self.host = String(host)
        self.port = port
        self.target = target
    }
}
