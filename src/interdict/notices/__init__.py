"""Formal warning notices (văn bản cảnh báo nghiệp vụ): drafted by a unit, approved by a supervisor, issued to
chosen units with a deadline, acknowledged and answered by each unit's results report."""
