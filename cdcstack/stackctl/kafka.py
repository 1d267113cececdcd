"""The Kafka broker: one KRaft node that is broker and controller, plus the JVM launch both JVMs share."""
from __future__ import annotations

import base64
import shutil
import subprocess
import uuid

from .process import spawn
from .settings import HOST, JVM_HEAP, KAFKA_LIBS, STATE, StackError

LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d{ISO8601}] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
logger.zk.name = org.apache.kafka.clients.NetworkClient
logger.zk.level = WARN
"""


def java_argv(service: str, main: str, *args: str) -> list[str]:
    d = STATE / service
    (d / "log4j2.properties").write_text(LOG4J2)
    return ["java", "-Xms256m", f"-Xmx{JVM_HEAP}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={d / 'log4j2.properties'}", f"-Dkafka.logs.dir={d / 'logs'}",
            "-cp", f"{KAFKA_LIBS}/*", main, *args]


def kafka_properties(ports: dict) -> str:
    d = STATE / "kafka"
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        # Static quorum of one voter (formatted without --standalone).
        f"controller.quorum.voters=1@{HOST}:{ports['kafka-controller']}",
        f"listeners=PLAINTEXT://{HOST}:{ports['kafka']},CONTROLLER://{HOST}:{ports['kafka-controller']}",
        f"advertised.listeners=PLAINTEXT://{HOST}:{ports['kafka']}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        f"log.dirs={d / 'data'}",
        # One broker: every internal topic has one replica.
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=10",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "default.replication.factor=1",
        "num.partitions=1",
        "auto.create.topics.enable=true",
        # Consumers of a fresh group start at once instead of waiting 3 s for more members.
        "group.initial.rebalance.delay.ms=0",
        # Two cores: few threads.
        "num.network.threads=2",
        "num.io.threads=4",
        "num.recovery.threads.per.data.dir=1",
        "log.retention.hours=168",
        "",
    ])


def kafka_start(ports: dict) -> None:
    d = STATE / "kafka"
    d.mkdir(parents=True, exist_ok=True)
    props = d / "server.properties"
    props.write_text(kafka_properties(ports))
    if not (d / "data" / "meta.properties").exists():
        shutil.rmtree(d / "data", ignore_errors=True)
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # One id in 64 starts with '-', which the tool's parser would take for an option unless
        # it is joined to its flag.
        r = subprocess.run(java_argv("kafka", "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                                     "-c", str(props)), capture_output=True, text=True, cwd=d)
        if r.returncode != 0:
            raise StackError(f"formatting the Kafka log directory failed:\n{r.stdout}{r.stderr}")
    spawn("kafka", java_argv("kafka", "kafka.Kafka", str(props)))


def kafka_admin(ports: dict):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": f"{HOST}:{ports['kafka']}", "log_level": 0,
                        "socket.connection.setup.timeout.ms": 2000})


def kafka_ready(ports: dict) -> bool:
    md = kafka_admin(ports).list_topics(timeout=3)
    return len(md.brokers) >= 1


def topic_message_count(ports: dict, topic: str) -> int | None:
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": f"{HOST}:{ports['kafka']}", "group.id": "stack-probe",
                  "enable.auto.commit": False, "log_level": 0})
    try:
        md = c.list_topics(topic, timeout=5)
        t = md.topics.get(topic)
        if t is None or t.error is not None or not t.partitions:
            return None
        total = 0
        for p in t.partitions:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=5)
            total += hi - lo
        return total
    finally:
        c.close()
