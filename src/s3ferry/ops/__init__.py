"""Operations: turn a plan into requests under one limiter and a task group."""
