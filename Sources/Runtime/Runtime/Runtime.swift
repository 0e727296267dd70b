import SystemCore
