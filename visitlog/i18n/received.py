"""Strings of the check of received changes (visitlog.sync.validate)."""

ZH = {
    "recv.err.invalid": (
        "收到的改动无效：表 {table}，记录 {row}，字段 {field}：{why}。整批拒收，未做任何改动。"
    ),
    "recv.err.shape": "收到的改动格式不对（应为 8 项的列表）。整批拒收，未做任何改动。",
    "recv.why.table": "未知的数据表",
    "recv.why.field": "未知的字段",
    "recv.why.uuid": "不是有效的编号（uuid）",
    "recv.why.device": "不是有效的设备编号",
    "recv.why.seq": "序号不是正整数",
    "recv.why.stamp": "时间戳“{value}”格式不对（应为 13 位毫秒.5 位计数）",
    "recv.why.enum": "值“{value}”不在可选范围内（{accepted}）",
    "recv.why.required": "不能为空",
    "recv.why.not_text": "应为文字，收到 {value}",
    "recv.why.too_long": "太长（最多 {max} 个字符）",
    "recv.why.date": "日期“{value}”不对（应为 YYYY-MM-DD）",
    "recv.why.moment": "时间“{value}”不对（应为 ISO 8601）",
    "recv.why.flag": "应为 0 或 1，收到 {value}",
    "recv.why.members": "户内人数应为 0–99 的整数，收到 {value}",
    "recv.why.number": "应为数字，收到 {value}",
    "recv.why.json": "应为{shape}（JSON 文字），收到 {value}",
    "recv.why.object": "应为 JSON 对象",
    "recv.why.empty": "修改没有任何字段",
    "recv.why.base": "修改前的时间戳格式不对",
    "recv.shape.tags": "已知标签的列表",
    "recv.shape.ids": "编号（uuid）的列表",
    "recv.shape.texts": "文字的列表",
    "recv.shape.record": "对象",
    "recv.shape.id_map": "编号到编号的对照",
    "bundle.err.bomb": (
        "同步包 {path} 解压后远大于文件本身（超过 {ratio} 倍），可能是恶意文件；未导入任何内容。"
    ),
    "bundle.err.bomb_line": (
        "同步包 {path} 里有一条改动解压后超过 {max} MB，可能是恶意文件；未导入任何内容。"
    ),
    "roster.err_xlsx_bomb": (
        "名册 {path} 解压后过大（{part} 声明 {size} MB，限 {limit} MB），"
        "可能是恶意文件；未导入任何内容。"
    ),
    "sync.chain_rewritten.target": (
        "警告：本机（{device}）的审计记录被改写过：上次同步时对方记下的第 {id} 条已不在或已被改动。"
        "数据已同步；对方已记下此事，在那里“visitlog audit verify”会一直报告。"
    ),
    "sync.chain_rewritten.local": (
        "警告：对方（{device}）的审计记录被改写过：上次同步时记下的第 {id} 条已不在或已被改动。"
        "本机已记下此事。"
    ),
    "audit.peer_rewritten": (
        "本机的审计记录完整，但发现 {count} 次别的设备的审计记录被改写："
        "最近一次是 {device}（{at} 同步时，其第 {id} 条已不在或已被改动）。"
    ),
    "roster.err_xlsx_ratio": (
        "名册 {path} 的 {part} 解压后是压缩大小的 {ratio} 倍（限 {limit} 倍），"
        "可能是恶意文件；未导入任何内容。"
    ),
}

EN = {
    "recv.err.invalid": (
        "A received change is invalid: table {table}, row {row}, field {field}: {why}. "
        "The whole batch was refused; nothing was changed."
    ),
    "recv.err.shape": (
        "A received change is malformed (not a list of 8 items). "
        "The whole batch was refused; nothing was changed."
    ),
    "recv.why.table": "unknown table",
    "recv.why.field": "unknown field",
    "recv.why.uuid": "not a valid id (uuid)",
    "recv.why.device": "not a valid device id",
    "recv.why.seq": "the sequence number is not a positive integer",
    "recv.why.stamp": "stamp '{value}' is malformed (13-digit ms, a dot, a 5-digit counter)",
    "recv.why.enum": "value '{value}' is not one of {accepted}",
    "recv.why.required": "must not be empty",
    "recv.why.not_text": "must be text, got {value}",
    "recv.why.too_long": "too long (at most {max} characters)",
    "recv.why.date": "date '{value}' is not a date (YYYY-MM-DD)",
    "recv.why.moment": "time '{value}' is not an ISO 8601 time",
    "recv.why.flag": "must be 0 or 1, got {value}",
    "recv.why.members": "household size must be an integer 0-99, got {value}",
    "recv.why.number": "must be a number, got {value}",
    "recv.why.json": "must be {shape} (JSON text), got {value}",
    "recv.why.object": "must be a JSON object",
    "recv.why.empty": "the edit sets no field",
    "recv.why.base": "the stamps before the edit are malformed",
    "recv.shape.tags": "a list of known tags",
    "recv.shape.ids": "a list of ids (uuid)",
    "recv.shape.texts": "a list of texts",
    "recv.shape.record": "an object",
    "recv.shape.id_map": "a map of ids to ids",
    "bundle.err.bomb": (
        "The bundle {path} inflates to far more than its size (over {ratio} times), "
        "perhaps a hostile file; nothing was imported."
    ),
    "bundle.err.bomb_line": (
        "The bundle {path} holds a change over {max} MB once inflated, "
        "perhaps a hostile file; nothing was imported."
    ),
    "roster.err_xlsx_bomb": (
        "The roster {path} is too large once inflated ({part} declares {size} MB, "
        "the limit is {limit} MB), perhaps a hostile file; nothing was imported."
    ),
    "sync.chain_rewritten.target": (
        "Warning: the audit trail of this replica ({device}) was rewritten: entry {id}, recorded "
        "by the other side at the last sync, is gone or changed. The data was synced; the other side recorded this and "
        "'visitlog audit verify' there keeps reporting it."
    ),
    "sync.chain_rewritten.local": (
        "Warning: the audit trail of the other side ({device}) was rewritten: entry {id}, "
        "recorded at the last sync, is gone or changed. This replica recorded it."
    ),
    "audit.peer_rewritten": (
        "This replica's audit trail is whole, but it found another device's audit trail "
        "rewritten {count} time(s): last {device} (at the sync of {at}, its entry {id} was "
        "gone or changed)."
    ),
    "roster.err_xlsx_ratio": (
        "In the roster {path}, {part} inflates to {ratio} times its compressed size "
        "(the limit is {limit}), perhaps a hostile file; nothing was imported."
    ),
}
