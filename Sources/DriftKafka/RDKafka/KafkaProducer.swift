import CRdKafka

/// A Kafka producer for results, alerts, dead letters and re-produced recordings.
///
/// Messages are copied into librdkafka's queue (`rd_kafka_produceva` with `RD_KAFKA_MSG_F_COPY`;
/// variadic `rd_kafka_producev` does not import into Swift). The queue is bounded by
/// `queue.buffering.max.messages`: when it is full, ``send(topic:partition:key:value:timestamp:headers:)``
/// serves delivery reports and retries until ``Configuration/enqueueTimeoutMilliseconds``
/// passes, so a slow broker slows the producer down instead of growing memory. Delivery reports
/// are checked: ``delivered`` and ``failed`` count them, ``firstFailure`` keeps the first error.
///
/// Not thread-safe: use one producer from one thread.
public final class KafkaProducer {
    public struct Configuration: Sendable {
        public var bootstrapServers: String
        /// librdkafka properties applied over Driftline's defaults.
        public var properties: [String: String]
        /// How long a send may wait for room in a full queue before it fails.
        public var enqueueTimeoutMilliseconds: Int

        public init(bootstrapServers: String, properties: [String: String] = [:], enqueueTimeoutMilliseconds: Int = 30_000) {
            self.bootstrapServers = bootstrapServers
            self.properties = properties
            self.enqueueTimeoutMilliseconds = enqueueTimeoutMilliseconds
        }

        var effectiveProperties: [String: String] {
            var p: [String: String] = [
                "client.id": "driftline",
                "queue.buffering.max.messages": "100000",
                "linger.ms": "5",
                "log_level": "4",
            ]
            for (k, v) in properties { p[k] = v }
            p["bootstrap.servers"] = bootstrapServers
            return p
        }
    }

    /// Delivery reports received: successes.
    public var delivered: Int { reports.delivered }
    /// Delivery reports received: failures.
    public var failed: Int { reports.failed }
    /// The first failed delivery.
    public var firstFailure: KafkaError? { reports.firstFailure }

    let client: RDKafkaClient
    let reports: DeliveryReports
    let reportsReference: Unmanaged<DeliveryReports>
    let enqueueTimeout: Int

    public init(_ configuration: Configuration) throws(KafkaError) {
        let config = try RDKafkaConfig(configuration.effectiveProperties)
        let reports = DeliveryReports()
        let reference = Unmanaged.passRetained(reports)
        config.withUnsafePointer { conf in
            rd_kafka_conf_set_opaque(conf, reference.toOpaque())
            rd_kafka_conf_set_dr_msg_cb(conf, producerDelivery)
        }
        do {
            client = try RDKafkaClient(type: .producer, config: config)
        } catch {
            reference.release()
            throw error
        }
        self.reports = reports
        self.reportsReference = reference
        enqueueTimeout = configuration.enqueueTimeoutMilliseconds
    }

    deinit {
        // Delivery reports are served only by poll and flush, which cannot run any more.
        reportsReference.release()
    }

    /// Queues one message.
    ///
    /// - Parameters:
    ///   - partition: `nil` lets the partitioner choose (by key hash).
    ///   - timestamp: Milliseconds since the epoch; `nil` for now.
    /// - Throws: ``KafkaError`` when the message is rejected (too large, unknown partition) or
    ///   the queue stays full past the enqueue timeout.
    public func send(
        topic: String, partition: Int32? = nil, key: UnsafeRawBufferPointer? = nil, value: UnsafeRawBufferPointer,
        timestamp: Int64? = nil, headers: [KafkaHeader] = []
    ) throws(KafkaError) {
        var waited = 0
        while true {
            let error = produceOnce(topic: topic, partition: partition, key: key, value: value, timestamp: timestamp, headers: headers)
            guard let error else { return }
            let code = rd_kafka_error_code(error)
            let message = String(cString: rd_kafka_error_string(error))
            rd_kafka_error_destroy(error)
            if code == RD_KAFKA_RESP_ERR__QUEUE_FULL && waited < enqueueTimeout {
                poll(timeoutMilliseconds: 50)
                waited += 50
                continue
            }
            throw RDKafka.error(for: code, detail: message, context: "producing to \(topic)")
        }
    }

    /// Queues one message with byte-array key and value.
    public func send(topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8], timestamp: Int64? = nil, headers: [KafkaHeader] = []) throws {
        try value.withUnsafeBytes { v in
            if let key {
                try key.withUnsafeBytes { k in
                    try send(topic: topic, partition: partition, key: k, value: v, timestamp: timestamp, headers: headers)
                }
            } else {
                try send(topic: topic, partition: partition, key: nil, value: v, timestamp: timestamp, headers: headers)
            }
        }
    }

    func produceOnce(
        topic: String, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer,
        timestamp: Int64?, headers: [KafkaHeader]
    ) -> OpaquePointer? {
        topic.withCString { topicName in
            var fields: [rd_kafka_vu_t] = []
            fields.reserveCapacity(7)
            var field = rd_kafka_vu_t()
            field.vtype = RD_KAFKA_VTYPE_TOPIC
            field.u.cstr = topicName
            fields.append(field)
            field = rd_kafka_vu_t()
            field.vtype = RD_KAFKA_VTYPE_MSGFLAGS
            field.u.i = RD_KAFKA_MSG_F_COPY
            fields.append(field)
            field = rd_kafka_vu_t()
            field.vtype = RD_KAFKA_VTYPE_VALUE
            field.u.mem.ptr = value.count == 0 ? nil : UnsafeMutableRawPointer(mutating: value.baseAddress)
            field.u.mem.size = value.count
            fields.append(field)
            if let key {
                field = rd_kafka_vu_t()
                field.vtype = RD_KAFKA_VTYPE_KEY
                // A present but empty key still needs a non-null pointer.
                field.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress ?? UnsafeRawPointer(topicName))
                field.u.mem.size = key.count
                fields.append(field)
            }
            if let partition {
                field = rd_kafka_vu_t()
                field.vtype = RD_KAFKA_VTYPE_PARTITION
                field.u.i32 = partition
                fields.append(field)
            }
            if let timestamp {
                field = rd_kafka_vu_t()
                field.vtype = RD_KAFKA_VTYPE_TIMESTAMP
                field.u.i64 = timestamp
                fields.append(field)
            }
            var headerList: OpaquePointer?
            if !headers.isEmpty {
                let list = rd_kafka_headers_new(headers.count)!
                for h in headers {
                    if let v = h.value {
                        v.withUnsafeBytes { _ = rd_kafka_header_add(list, h.name, -1, $0.baseAddress, $0.count) }
                    } else {
                        _ = rd_kafka_header_add(list, h.name, -1, nil, 0)
                    }
                }
                field = rd_kafka_vu_t()
                field.vtype = RD_KAFKA_VTYPE_HEADERS
                field.u.headers = list
                fields.append(field)
                headerList = list
            }
            let error = client.withUnsafeHandle { handle in
                fields.withUnsafeBufferPointer { rd_kafka_produceva(handle, $0.baseAddress, $0.count) }
            }
            // On success the headers belong to the message; on failure they are still ours.
            if error != nil, let headerList { rd_kafka_headers_destroy(headerList) }
            return error
        }
    }

    /// Serves delivery reports for up to `timeoutMilliseconds`.
    public func poll(timeoutMilliseconds: Int32 = 0) {
        _ = client.withUnsafeHandle { rd_kafka_poll($0, timeoutMilliseconds) }
    }

    /// Messages queued or in flight.
    public var outstanding: Int {
        Int(client.withUnsafeHandle { rd_kafka_outq_len($0) })
    }

    /// Waits until every queued message is delivered or failed.
    ///
    /// - Throws: ``KafkaError`` with ``KafkaError/Code/timedOut`` when messages are still
    ///   outstanding after the timeout.
    public func flush(timeoutMilliseconds: Int32 = 30_000) throws(KafkaError) {
        let code = client.withUnsafeHandle { rd_kafka_flush($0, timeoutMilliseconds) }
        try RDKafka.check(code, context: "flushing the producer (\(outstanding) messages outstanding)")
    }
}

/// Counts delivery reports; reached from the C callback through the opaque pointer.
final class DeliveryReports {
    var delivered = 0
    var failed = 0
    var firstFailure: KafkaError?
}

private func producerDelivery(_ handle: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?, _ opaque: UnsafeMutableRawPointer?) {
    guard let message, let opaque else { return }
    let reports = Unmanaged<DeliveryReports>.fromOpaque(opaque).takeUnretainedValue()
    if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        reports.delivered += 1
    } else {
        reports.failed += 1
        if reports.firstFailure == nil {
            reports.firstFailure = RDKafka.error(for: message.pointee.err, context: "delivering a message")
        }
    }
}
