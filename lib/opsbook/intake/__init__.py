"""Marketplace export intake: read seller back-end exports (Taobao/Tmall, JD, Douyin, Pinduoduo, 生意参谋) safely."""
