"""The agents, queues and routing rules every backend test runs with."""

from bot.config import LocalSeed

SEED = LocalSeed.model_validate(
    {
        "agents": [
            {"id": "agent-ana", "name": "Ana Horvat", "email": "ana@example.com"},
            {"id": "agent-ben", "name": "Ben Kovac", "email": "ben@example.com"},
            {"id": "agent-cleo", "name": "Cleo Marin", "status": "AWAY"},
        ],
        "queues": [
            {
                "id": "q-billing",
                "name": "Billing",
                "agents": ["agent-ana", "agent-ben", "agent-cleo"],
                "auto_assignment": "LOAD_BALANCING",
            },
            {
                "id": "q-vip",
                "name": "VIP",
                "agents": ["agent-ana", "agent-ben"],
                "auto_assignment": "ROUND_ROBIN",
            },
            {"id": "q-general", "name": "General", "agents": ["agent-ana"]},
        ],
        "routing": [
            {
                "name": "VIP customers",
                "queue": "q-vip",
                "priority": "HIGH",
                "match": {"tags": ["vip"]},
            },
            {"name": "Money", "queue": "q-billing", "match": {"keywords": ["invoice", "refund"]}},
            {"name": "E-mail", "queue": "q-general", "match": {"channels": ["EMAIL"]}},
        ],
    }
)
